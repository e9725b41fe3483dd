// The lab etcd store's certificates, made with openssl into the run directory: one CA (EC P-256), a
// certificate per member (subjectAltName its address, serverAuth + clientAuth: the same one serves
// clients and authenticates to the other members, RFC 5280 §4.2.1.12), one client certificate for the
// agents and the lab's etcdctl (clientAuth), and a rogue CA's client certificate (a client the store
// must refuse). Keys are mode 0600. Valid two days: a lab run is minutes.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';

const CURVE = 'prime256v1';
const VALID_DAYS = '2';
/** Random serial bytes (RFC 5280 §4.1.2.2: positive, at most 20 octets; a leading 0x01 keeps it positive). */
const SERIAL_BYTES = 8;

/** A client's TLS files (what `cluster.etcd.tls` names). */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface EtcdPki {
  caFile: string;
  /** Each member's certificate and key, by member name. */
  members: Map<string, { certFile: string; keyFile: string }>;
  /** The agents' (and the lab's) client identity. */
  client: EtcdTlsFiles;
  /** A client certificate signed by another CA: the store must refuse it. */
  rogue: EtcdTlsFiles;
}

function openssl(args: readonly string[]): void {
  run('openssl', args);
}

/** `openssl req` making a new unencrypted P-256 key into `key` and a request (or with -x509 a certificate) for CN `name`. */
function newKeyRequest(key: string, out: string, name: string): string[] {
  return [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    `ec_paramgen_curve:${CURVE}`,
    '-nodes',
    '-keyout',
    key,
    '-out',
    out,
    '-subj',
    `/CN=${name}`,
  ];
}

function newCa(dir: string, name: string): { crt: string; key: string } {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  openssl([
    ...newKeyRequest(key, crt, name),
    '-x509',
    '-days',
    VALID_DAYS,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(key, 0o600);
  return { crt, key };
}

/** A key and a certificate for `cn` signed by `ca`, with these extensions (openssl x509v3 syntax). */
function issue(
  dir: string,
  name: string,
  ca: { crt: string; key: string },
  extensions: string[],
): { certFile: string; keyFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  openssl(newKeyRequest(keyFile, csr, name));
  chmodSync(keyFile, 0o600);
  writeFileSync(ext, `${['keyUsage=critical,digitalSignature,keyEncipherment', ...extensions].join('\n')}\n`);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.crt,
    '-CAkey',
    ca.key,
    '-set_serial',
    `0x01${randomBytes(SERIAL_BYTES).toString('hex')}`,
    '-days',
    VALID_DAYS,
    '-extfile',
    ext,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

/** Make the store's PKI under `dir`: members by name with their IPv4 address. */
export function makeEtcdPki(dir: string, members: readonly { name: string; address: string }[]): EtcdPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = newCa(dir, 'etcd-ca');
  const out = new Map<string, { certFile: string; keyFile: string }>();
  for (const m of members) {
    out.set(
      m.name,
      issue(dir, m.name, ca, [
        `subjectAltName=IP:${m.address},DNS:${m.name}`,
        'extendedKeyUsage=serverAuth,clientAuth',
      ]),
    );
  }
  const client = issue(dir, 'anycastd-client', ca, ['extendedKeyUsage=clientAuth']);
  const rogueCa = newCa(dir, 'rogue-ca');
  const rogue = issue(dir, 'rogue-client', rogueCa, ['extendedKeyUsage=clientAuth']);
  return {
    caFile: ca.crt,
    members: out,
    client: { caFile: ca.crt, ...client },
    rogue: { caFile: ca.crt, ...rogue },
  };
}
