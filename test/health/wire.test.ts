import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeResponse, encodeQuery, TYPE_A, TYPE_AAAA } from '../../src/health/dns-wire.js';
import { decodeProcAddress, parseListeners } from '../../src/health/proc-net.js';
import { answerDns } from './servers.js';

test('dns: a query for probe.example.com A is the exact RFC 1035 bytes', () => {
  const q = encodeQuery(0x1234, 'probe.example.com.', TYPE_A);
  assert.equal(
    q.toString('hex'),
    '1234' +
      '0100' +
      '0001' +
      '0000' +
      '0000' +
      '0000' + // header: id, RD, QDCOUNT 1
      '0570726f6265' +
      '076578616d706c65' +
      '03636f6d' +
      '00' + // 5probe 7example 3com 0
      '0001' +
      '0001', // QTYPE A, QCLASS IN
  );
});

test('dns: responses with compressed names decode; truncated ones throw', () => {
  const a = decodeResponse(answerDns(encodeQuery(7, 'probe.example.com', TYPE_A)));
  assert.deepEqual(a, { id: 7, isResponse: true, rcode: 0, addresses: ['192.0.2.53'] });
  const aaaa = decodeResponse(answerDns(encodeQuery(8, 'probe.example.com', TYPE_AAAA)));
  assert.deepEqual(aaaa.addresses, ['2001:db8::53']);
  const nx = decodeResponse(answerDns(encodeQuery(9, 'nope.example.com', TYPE_A)));
  assert.deepEqual([nx.rcode, nx.addresses], [3, []]);
  const full = answerDns(encodeQuery(7, 'probe.example.com', TYPE_A));
  assert.throws(() => decodeResponse(full.subarray(0, full.length - 2)), RangeError);
  assert.throws(() => decodeResponse(full.subarray(0, 11)), RangeError);
});

test('proc/net/tcp: LISTEN entries, addresses in host order, other states ignored', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
    '   1: 00000000:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0',
    '   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1',
    '',
  ].join('\n');
  assert.deepEqual(parseListeners(tcp), [
    { address: '127.0.0.1', port: 8080 },
    { address: '0.0.0.0', port: 53 },
  ]);
  const tcp6 = [
    '  sl  local_address                         remote_address                        st',
    '   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 0 4 1',
    '   1: B80D0120000000000000000011000000:01BB 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 0 5 1',
  ].join('\n');
  assert.deepEqual(parseListeners(tcp6), [
    { address: '::1', port: 80 },
    { address: '2001:db8::11', port: 443 },
  ]);
  assert.equal(decodeProcAddress('0B0200C0'), '192.0.2.11');
});
