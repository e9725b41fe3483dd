// A scripted BGP peer for speaker tests over loopback: listens on an address, answers the speaker's
// OPEN with its own (capabilities chosen by the test, hold time 0 so no keepalives are needed),
// records every message it receives (decoded), and lets the test write any message or drop the
// connection without a NOTIFICATION (a "restart" for graceful-restart tests).

import net from 'node:net';
import type { Capability } from '../../src/bgp/codec/capabilities.js';
import { Framer } from '../../src/bgp/codec/framer.js';
import { encodeKeepalive } from '../../src/bgp/codec/keepalive.js';
import { type BgpMessage, decodeMessage } from '../../src/bgp/codec/message.js';
import { encodeOpen } from '../../src/bgp/codec/open.js';
import type { DecodedUpdate } from '../../src/bgp/codec/update.js';

export interface ScriptedPeerOptions {
  host: string;
  asn: number;
  id: string;
  capabilities?: Capability[];
  /** Listen on this port (0: any). */
  port?: number;
}

export const V4_CAPS: Capability[] = [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' }];

export class ScriptedPeer {
  readonly received: BgpMessage[] = [];
  /** The raw bytes of every message received, in order. */
  readonly raw: Buffer[] = [];
  connections = 0;
  private socket: net.Socket | undefined;
  private server!: net.Server;
  port = 0;

  private constructor(private readonly o: ScriptedPeerOptions) {}

  static async listen(o: ScriptedPeerOptions): Promise<ScriptedPeer> {
    const p = new ScriptedPeer(o);
    p.server = net.createServer((s) => p.onConnection(s));
    await new Promise<void>((resolve) => p.server.listen(o.port ?? 0, o.host, resolve));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  private onConnection(s: net.Socket): void {
    this.socket?.destroy();
    this.socket = s;
    this.connections++;
    const framer = new Framer();
    s.on('error', () => {});
    s.on('data', (chunk) => {
      for (const raw of framer.push(chunk)) {
        const msg = decodeMessage(raw, { as4: true, ebgp: true });
        this.received.push(msg);
        this.raw.push(Buffer.from(raw));
        if (msg.type === 'open') {
          const caps: Capability[] = [
            ...(this.o.capabilities ?? V4_CAPS),
            { kind: 'four-octet-as', asn: this.o.asn },
          ];
          s.write(
            encodeOpen({
              myAs: this.o.asn > 0xffff ? 23456 : this.o.asn,
              holdTime: 0,
              bgpId: this.o.id,
              capabilities: caps,
            }),
          );
          s.write(encodeKeepalive());
        }
      }
    });
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  updates(): DecodedUpdate[] {
    return this.received.filter((m): m is BgpMessage & { type: 'update' } => m.type === 'update');
  }

  notifications(): (BgpMessage & { type: 'notification' })[] {
    return this.received.filter((m): m is BgpMessage & { type: 'notification' } => m.type === 'notification');
  }

  send(buf: Buffer): void {
    this.socket?.write(buf);
  }

  /** Drop the connection with no NOTIFICATION (TCP RST). */
  drop(): void {
    this.socket?.resetAndDestroy();
    this.socket = undefined;
  }

  close(): void {
    this.drop();
    this.server.close();
  }
}
