// The mutual-TLS files of the etcd backend (`cluster.etcd.tls`): the CA that signed the etcd members'
// certificates, this agent's client certificate and its private key. They are read when the config is
// loaded (start, reload, `anycastd check`) with the checks of checked-file.ts — the key as a secret (no
// other local user may read it), the certificates as files no other user may change — and each must
// hold a PEM block of its kind. A bad file is a config error naming its path, so a reload with one is
// rejected and the running settings stay. The bytes never appear in a log line or a JSON rendering of
// the config: only their fingerprint does.

import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { FileProblem, readCheckedFile } from './checked-file.js';
import type { Config } from './types.js';

/** A certificate chain or key file is a few KiB; anything far bigger is not one. */
const MAX_TLS_FILE_BYTES = 256 * 1024;
const FINGERPRINT_HEX = 16;
const CERT_RE = /-----BEGIN CERTIFICATE-----/;
const KEY_RE = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** What the loader read from the three files. */
export class EtcdTlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly fingerprint: string;
  readonly #key: Buffer;

  constructor(ca: Buffer, cert: Buffer, key: Buffer) {
    this.ca = ca;
    this.cert = cert;
    this.#key = key;
    const h = createHash('sha256');
    for (const b of [ca, cert, key]) h.update(createHash('sha256').update(b).digest());
    this.fingerprint = h.digest('hex').slice(0, FINGERPRINT_HEX);
  }

  get key(): Buffer {
    return this.#key;
  }

  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }

  [inspect.custom](): string {
    return `EtcdTlsMaterial(fingerprint ${this.fingerprint})`;
  }
}

type Issue = { path: (string | number)[]; expected: string; found: string };

function readPem(path: string, what: string, secret: boolean, re: RegExp): Buffer {
  const bytes = readCheckedFile(path, { what, maxBytes: MAX_TLS_FILE_BYTES, secret });
  if (!re.test(bytes.toString('latin1')))
    throw new FileProblem(`a ${what} in PEM form`, `${path}: no PEM block of that kind`);
  return bytes;
}

/** The load step for `cluster.etcd.tls`: reads the files into `material`; returns what is wrong, located. */
export function loadEtcdTls(cfg: Config): Issue[] {
  const tls = cfg.cluster.etcd?.tls;
  if (!tls) return [];
  const at = ['cluster', 'etcd', 'tls'];
  const issues: Issue[] = [];
  const read = (key: string, path: string, what: string, secret: boolean, re: RegExp): Buffer | null => {
    try {
      return readPem(path, what, secret, re);
    } catch (err) {
      if (!(err instanceof FileProblem)) throw err;
      issues.push({ path: [...at, key], expected: err.expected, found: err.found });
      return null;
    }
  };
  const ca = read('ca_file', tls.caFile, 'TLS CA file', false, CERT_RE);
  const cert = read('cert_file', tls.certFile, 'TLS certificate file', false, CERT_RE);
  const key = read('key_file', tls.keyFile, 'TLS key file', true, KEY_RE);
  if (ca && cert && key) tls.material = new EtcdTlsMaterial(ca, cert, key);
  return issues;
}
