import dns from 'node:dns';
import net from 'node:net';
import { MediaError } from '../domain/errors.js';

/** Addresses Segue never connects to on a user's behalf unless private networks are allowed. */
const blocked = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) {
  blocked.addSubnet(prefix, bits, 'ipv6');
}

/**
 * Whether an IP address is on the public internet (not loopback, private, link-local, multicast,
 * metadata…). An IPv6 address that carries an IPv4 address (compatible, mapped, 6to4, Teredo,
 * NAT64) is public only if the IPv4 address it reaches is.
 */
export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return !blocked.check(address, 'ipv4');
  if (family !== 6) return false;
  const bytes = ipv6Bytes(address);
  const embedded = embeddedIpv4(bytes);
  if (embedded !== null && !isPublicAddress(embedded)) return false;
  return !blocked.check(address.split('%')[0]!, 'ipv6');
}

/** The 16 bytes of an IPv6 address in any spelling Node accepts (`::`, an IPv4 tail, a `%zone`). */
export function ipv6Bytes(address: string): Uint8Array {
  const text = address.split('%')[0]!;
  if (net.isIP(text) !== 6) throw new Error(`not an IPv6 address: ${address}`);
  const words = (part: string): number[] =>
    part === '' ? [] : part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [Number.parseInt(group, 16)];
      const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  const [left = '', right] = text.split('::');
  const head = words(left);
  const tail = right === undefined ? [] : words(right);
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return Uint8Array.from(all.flatMap((word) => [word >> 8, word & 0xff]));
}

/**
 * The IPv4 address an IPv6 address leads to, or null: IPv4-compatible `::/96`, IPv4-mapped
 * `::ffff:0:0/96`, 6to4 `2002::/16` (bits 16–48), Teredo `2001::/32` (the client: the last 32
 * bits inverted), NAT64 `64:ff9b::/96` and `64:ff9b:1::/48` (the last 32 bits).
 */
export function embeddedIpv4(bytes: Uint8Array): string | null {
  const at = (offset: number, mask = 0) => [0, 1, 2, 3].map((index) => bytes[offset + index]! ^ mask).join('.');
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((byte) => byte === 0);
  const word = (index: number) => (bytes[index * 2]! << 8) | bytes[index * 2 + 1]!;
  if (zeros(0, 10) && (word(5) === 0 || word(5) === 0xffff)) return at(12);
  if (word(0) === 0x2002) return at(2);
  if (word(0) === 0x2001 && word(1) === 0) return at(12, 0xff);
  if (word(0) === 0x64 && word(1) === 0xff9b && (zeros(4, 12) || word(2) === 1)) return at(12);
  return null;
}

/** Refused: the URL is not http(s), or its host is (or resolves to) a non-public address. */
export class AddressRefusedError extends MediaError {}

/** The host name did not resolve (now): nothing can be fetched from it, but nothing is proven wrong either. */
export class HostUnresolvedError extends AddressRefusedError {}

export interface AddressPolicy {
  readonly allowPrivateNetworks: boolean;
  /** Which addresses count as public; `isPublicAddress` unless a test narrows it. */
  readonly isPublic?: (address: string) => boolean;
}

function refusedAddress(address: string, policy: AddressPolicy): boolean {
  return !policy.allowPrivateNetworks && !(policy.isPublic ?? isPublicAddress)(address);
}

/** Checks scheme and, for an IP-literal host, the address. Hostnames are checked at connect time. */
export function checkUrlShape(raw: string, policy: AddressPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AddressRefusedError('is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AddressRefusedError('must be an http or https URL');
  }
  if (url.username || url.password) throw new AddressRefusedError('must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && refusedAddress(host, policy)) {
    throw new AddressRefusedError('points to a private, loopback, link-local or metadata address');
  }
  return url;
}

/**
 * Checks a URL as far as can be known before fetching it: scheme, credentials, and the host's
 * addresses. A host that does not resolve now is let through: the fetch itself will fail
 * cleanly later, while a transient DNS failure must not reject a valid request.
 */
export async function checkUrlBeforeUse(raw: string, policy: AddressPolicy): Promise<void> {
  const url = checkUrlShape(raw, policy);
  try {
    await resolveChecked(url.hostname, policy);
  } catch (error) {
    if (!(error instanceof HostUnresolvedError)) throw error;
  }
}

/** Resolves a hostname and refuses it if any of its addresses is not public. Returns the address to use. */
export async function resolveChecked(hostname: string, policy: AddressPolicy): Promise<{ address: string; family: number }> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) {
    if (refusedAddress(host, policy)) {
      throw new AddressRefusedError('points to a private, loopback, link-local or metadata address');
    }
    return { address: host, family: net.isIP(host) };
  }
  let answers: dns.LookupAddress[];
  try {
    answers = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch {
    throw new HostUnresolvedError(`host ${host} could not be resolved`);
  }
  const first = answers[0];
  if (!first) throw new HostUnresolvedError(`host ${host} could not be resolved`);
  if (answers.some((answer) => refusedAddress(answer.address, policy))) {
    throw new AddressRefusedError('resolves to a private, loopback, link-local or metadata address');
  }
  return first;
}

/**
 * A `lookup` for sockets: resolves, checks every answer, and hands the socket the checked address,
 * so the connection is pinned to what was checked (no DNS-rebinding window).
 */
export function guardedLookup(policy: AddressPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, policy).then(
      ({ address, family }) => {
        if ((options as dns.LookupAllOptions).all) {
          (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, [{ address, family }]);
        } else {
          callback(null, address, family);
        }
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}
