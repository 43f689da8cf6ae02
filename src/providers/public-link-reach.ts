import net from 'node:net';
import type { ExtensionSource } from '../ports/video-provider.js';

/**
 * Why an upstream at `upstreamBaseUrl` cannot fetch Segue's links (extension sources, bridge
 * frames), or undefined when it can: a loopback `SEGUE_PUBLIC_URL` is reachable only from an
 * upstream on this same machine.
 */
export function loopbackLinkRefusal(publicUrl: string, upstreamBaseUrl: string, upstream: string): string | undefined {
  if (!isLoopback(publicUrl) || isLoopback(upstreamBaseUrl)) return undefined;
  return `SEGUE_PUBLIC_URL (${new URL(publicUrl).origin}) is a loopback address ${upstream} cannot reach; set it to an address ${upstream} can fetch from`;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (net.isIPv4(host)) return host.startsWith('127.') || host === '0.0.0.0';
  if (net.isIPv6(host)) return host === '::1' || host === '::' || /^::ffff:127\./.test(host);
  return false;
}

/** How the service gets a bridge's frame: Segue's signed link, or the bytes as a data: URI when it cannot reach Segue. */
export function frameReference(bridge: NonNullable<ExtensionSource['bridge']>, linkRefusal: string | undefined): string {
  return bridge.frameLink && !linkRefusal ? bridge.frameLink : `data:${bridge.frame.mimeType};base64,${bridge.frame.bytes.toString('base64')}`;
}
