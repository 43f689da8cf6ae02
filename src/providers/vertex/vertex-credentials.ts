import { createSign, createPrivateKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';
import { OutboundError, OutboundHttp } from '../../net/outbound-http.js';
import { ProviderError } from '../../ports/video-provider.js';

/** The fields of a service account's JSON key file that the JWT-bearer flow needs. */
const serviceAccountSchema = z.object({
  type: z.literal('service_account').optional(),
  client_email: z.string().email(),
  private_key: z.string().includes('PRIVATE KEY'),
  private_key_id: z.string().optional(),
  token_uri: z.url().default('https://oauth2.googleapis.com/token'),
});

export interface ServiceAccount {
  readonly clientEmail: string;
  readonly privateKey: KeyObject;
  readonly privateKeyId: string | undefined;
  readonly tokenUri: string;
}

/** The scope every Vertex and GCS call here needs. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * Reads a service account's key file. The error never quotes the file (it holds the private
 * key): only what is wrong with it.
 */
export function readServiceAccount(file: string): ServiceAccount {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`the service account file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the service account file ${file} is not JSON`);
  }
  const parsed = serviceAccountSchema.safeParse(json);
  if (!parsed.success) throw new Error(`the service account file ${file} lacks ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(parsed.data.private_key);
  } catch {
    throw new Error(`the private key in ${file} is not a readable PEM key`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error(`the private key in ${file} is not an RSA key`);
  return { clientEmail: parsed.data.client_email, privateKey, privateKeyId: parsed.data.private_key_id, tokenUri: parsed.data.token_uri };
}

const base64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/**
 * The JWT-bearer assertion (RFC 7523) Google's token endpoint takes: RS256 over
 * `{iss, scope, aud, iat, exp}`, valid one hour at most.
 */
export function signAssertion(account: ServiceAccount, nowSeconds: number, lifetimeSeconds = 3600): string {
  const header = { alg: 'RS256', typ: 'JWT', ...(account.privateKeyId ? { kid: account.privateKeyId } : {}) };
  const claims = { iss: account.clientEmail, scope: CLOUD_PLATFORM_SCOPE, aud: account.tokenUri, iat: nowSeconds, exp: nowSeconds + Math.min(lifetimeSeconds, 3600) };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(account.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

const tokenAnswerSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().positive().optional(), token_type: z.string().optional() });

/** Tokens are renewed this long before they expire, so a call never carries a dying one. */
const REFRESH_MARGIN_MS = 60_000;

export interface AccessTokenOptions {
  readonly account: ServiceAccount;
  readonly outbound: OutboundHttp;
  readonly timeoutMs: number;
  readonly now: () => number;
}

/**
 * One service account's access tokens: exchanged at the key file's `token_uri`, kept until a
 * minute before they expire, and shared by concurrent callers (one exchange at a time).
 */
export class AccessTokens {
  private cached: { token: string; expiresAt: number } | null = null;
  private pending: Promise<string> | null = null;
  /** How many exchanges were made (operators' figures, tests of the cache). */
  exchanges = 0;

  constructor(private readonly options: AccessTokenOptions) {}

  /** The identity tasks are pinned to (never the secret). */
  get clientEmail(): string {
    return this.options.account.clientEmail;
  }

  async token(signal: AbortSignal): Promise<string> {
    if (this.cached && this.options.now() < this.cached.expiresAt - REFRESH_MARGIN_MS) return this.cached.token;
    this.pending ??= this.exchange(signal).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** Forgets the token (the upstream answered 401: it was revoked or expired early). */
  invalidate(): void {
    this.cached = null;
  }

  /** Every secret this holder knows (the current token), for scrubbing texts. */
  secrets(): string[] {
    return this.cached ? [this.cached.token] : [];
  }

  private async exchange(signal: AbortSignal): Promise<string> {
    const now = this.options.now();
    const assertion = signAssertion(this.options.account, Math.floor(now / 1000));
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
    let text: string;
    let status: number;
    try {
      const response = await this.options.outbound.request({
        url: new URL(this.options.account.tokenUri),
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal,
        timeoutMs: this.options.timeoutMs,
        stallTimeoutMs: this.options.timeoutMs,
      });
      status = response.statusCode;
      text = await response.text(64 * 1024);
    } catch (error) {
      if (error instanceof OutboundError) throw new ProviderError(`the token endpoint could not be reached: ${error.message}`, true);
      throw error;
    }
    this.exchanges++;
    if (status !== 200) {
      // `invalid_grant` and friends: the key is wrong or revoked; trying again will not help.
      const detail = /"error"\s*:\s*"([a-z_]{1,40})"/.exec(text)?.[1] ?? `HTTP ${status}`;
      throw new ProviderError(`the token endpoint refused ${this.clientEmail}: ${detail}`, status >= 500 || status === 429);
    }
    let answer: z.infer<typeof tokenAnswerSchema>;
    try {
      answer = tokenAnswerSchema.parse(JSON.parse(text));
    } catch {
      throw new ProviderError('the token endpoint answered without an access token', true);
    }
    this.cached = { token: answer.access_token, expiresAt: now + (answer.expires_in ?? 3600) * 1000 };
    return answer.access_token;
  }
}
