// The worker side of MaglevThread (maglev-pool.ts): builds the tables it is asked for, off the agent's
// event loop, and sends each back with its entries transferred (no copy). Nothing else runs here.

import { parentPort } from 'node:worker_threads';
import { buildMaglev } from './maglev.js';
import { type BuildReply, type BuildRequest, READY } from './maglev-pool.js';

parentPort?.on('message', (req: BuildRequest) => {
  let reply: BuildReply;
  try {
    const t = buildMaglev(req.members, req.size);
    reply = { id: req.id, ids: t.ids as string[], table: t.table };
    parentPort?.postMessage(reply, [t.table.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    reply = {
      id: req.id,
      error: { code: e.code ?? 'ERR_INVALID_ARGUMENT', message: String(e.message ?? err) },
    };
    parentPort?.postMessage(reply);
  }
});

parentPort?.postMessage(READY);
