import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressRefusedError, checkUrlShape, embeddedIpv4, ipv6Bytes, isPublicAddress } from '../src/net/address-guard.js';

test('IPv6 spellings parse to the same 16 bytes', () => {
  const loopbackMapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];
  for (const spelling of ['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:0001', '::FFFF:7F00:1']) {
    assert.deepEqual([...ipv6Bytes(spelling)], loopbackMapped, spelling);
  }
  assert.deepEqual([...ipv6Bytes('::')], new Array(16).fill(0));
  assert.deepEqual([...ipv6Bytes('fe80::1%eth0')], [0xfe, 0x80, ...new Array(13).fill(0), 1]);
  assert.deepEqual([...ipv6Bytes('1::')], [0, 1, ...new Array(14).fill(0)]);
  assert.throws(() => ipv6Bytes('127.0.0.1'));
});

test('the IPv4 address inside each IPv6 transition form is found', () => {
  const cases: Array<[string, string | null]> = [
    ['::127.0.0.1', '127.0.0.1'],
    ['::7f00:1', '127.0.0.1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['2002:7f00:1::1', '127.0.0.1'],
    ['2002:a9fe:a9fe:1234::5', '169.254.169.254'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '127.0.0.1'],
    ['2001:0000:4136:e378:8000:63bf:f7f7:f7f7', '8.8.8.8'],
    ['64:ff9b::10.0.0.1', '10.0.0.1'],
    ['64:ff9b:1:2::c0a8:101', '192.168.1.1'],
    ['2606:4700:4700::1111', null],
    ['2001:db8::1', null],
    ['64:ff9b:2::1', null],
  ];
  for (const [address, expected] of cases) assert.equal(embeddedIpv4(ipv6Bytes(address)), expected, address);
});

test('transition forms are refused when the IPv4 address they reach is not public', () => {
  for (const address of [
    '::127.0.0.1', '::7f00:1', '::10.0.0.1', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe', '2002:7f00:1::1',
    '2002:a00:1::', '2002:c0a8:101::1', '2001:0:4136:e378:8000:63bf:80ff:fffe', '2001::5ef5:79fd:3f57:fefe',
    '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::10.0.0.1', '64:ff9b:1:ffff::7f00:1',
  ]) {
    assert.equal(isPublicAddress(address), false, address);
  }
  for (const address of [
    '::8.8.8.8', '::ffff:8.8.8.8', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
    '64:ff9b::8.8.8.8', '64:ff9b:1::101:101', '2a00:1450:4001:80b::200e',
  ]) {
    assert.equal(isPublicAddress(address), true, address);
  }
});

test('URLs with a transition-form host are refused in their normalised spelling', () => {
  const policy = { allowPrivateNetworks: false };
  for (const url of [
    'http://[::127.0.0.1]:8080/cb', 'http://[2002:7f00:1::1]:8080/cb', 'http://[::ffff:127.0.0.1]/cb',
    'http://[0:0:0:0:0:ffff:7f00:1]/', 'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', 'http://[64:ff9b::169.254.169.254]/',
  ]) {
    assert.throws(() => checkUrlShape(url, policy), AddressRefusedError, url);
  }
  assert.equal(checkUrlShape('http://[2002:808:808::1]/cb', policy).hostname, '[2002:808:808::1]');
  assert.equal(checkUrlShape('http://[::127.0.0.1]:8080/cb', { allowPrivateNetworks: true }).port, '8080');
});
