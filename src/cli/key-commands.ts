import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import { KeyService } from '../services/key-service.js';
import { print, UsageError, withStorage } from './cli-support.js';

export const keyUsage = `  keys create --name NAME [--credits N] [--json]        create an API key (shown once) with a credit grant
  keys list [--json]                                    every key with its balance (never its secret)
  keys show --key KEY_OR_ID [--json]
  keys revoke --key KEY_OR_ID                           the key answers 401 from now on
  keys rotate --key KEY_OR_ID [--json]                  a new secret value for the same account
  keys limits --key KEY_OR_ID [--rate 50/10s|default] [--max-unfinished N|default]
  keys rotate-webhook-secret --key KEY [--overlap-hours H] [--json]
                                                        new whsec_ secret; the old one signs too for H hours (24)
  keys veo-hmac --key KEY [--off] [--json]              Veo-style X-Webhook-Signature on callbacks: new HMAC key, or off
  keys webhook --key KEY_OR_ID (--url URL | --off)      where the key's OpenAI-dialect tasks send video.completed/failed events`;

export async function keyCommand(subcommand: string | undefined, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      credits: { type: 'string', default: '0' },
      key: { type: 'string' },
      'overlap-hours': { type: 'string', default: '24' },
      off: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      rate: { type: 'string' },
      'max-unfinished': { type: 'string' },
      url: { type: 'string' },
    },
  });
  await withStorage(async (storage) => {
    const keys = new KeyService(storage, Date.now, { allowPrivateNetworks: loadConfig().allowPrivateNetworks });
    if (subcommand === 'create') {
      if (!values.name) throw new UsageError('keys create needs --name NAME');
      const credits = Number(values.credits);
      if (!Number.isSafeInteger(credits) || credits < 0) throw new UsageError('--credits must be a whole number ≥ 0');
      const issued = await keys.create(values.name, credits);
      print({ key: issued.key, webhookSecret: issued.webhookSecret }, values.json, () =>
        `API key (shown only once): ${issued.key}\nWebhook signing secret: ${issued.webhookSecret}`,
      );
      return;
    }
    if (subcommand === 'list') {
      const all = await keys.list();
      print(all.map(describe), values.json, () =>
        all.map((key) => `${key.id}  ${key.prefix}…  ${key.name}  balance ${key.balance}${key.revokedAt ? '  REVOKED' : ''}`).join('\n') || 'No keys.',
      );
      return;
    }
    if (!values.key) throw new UsageError(`keys ${subcommand ?? ''} needs --key KEY`);
    if (subcommand === 'show') {
      const key = await keys.find(values.key);
      const shown = describe({ ...key, balance: await keys.balance(key.id) });
      print(shown, values.json, () => Object.entries(shown).map(([name, value]) => `${name}: ${value}`).join('\n'));
      return;
    }
    if (subcommand === 'revoke') {
      await keys.revoke((await keys.find(values.key)).id);
      print({ revoked: true }, values.json, () => 'Revoked.');
      return;
    }
    if (subcommand === 'rotate') {
      const key = await keys.rotate((await keys.find(values.key)).id);
      print({ key }, values.json, () => `New API key (shown only once): ${key}\nThe old value no longer works.`);
      return;
    }
    if (subcommand === 'limits') {
      const key = await keys.find(values.key);
      const maxUnfinished = values['max-unfinished'];
      await keys.setLimits(key.id, {
        rateLimit: values.rate === undefined ? key.rateLimit : values.rate === 'default' ? null : values.rate,
        maxUnfinishedTasks:
          maxUnfinished === undefined ? key.maxUnfinishedTasks : maxUnfinished === 'default' ? null : Number(maxUnfinished),
      });
      const updated = describe({ ...(await keys.find(key.id)), balance: await keys.balance(key.id) });
      print(updated, values.json, () => `rate: ${updated.rateLimit ?? 'default'}, unfinished tasks: ${updated.maxUnfinishedTasks ?? 'default'}`);
      return;
    }
    if (subcommand === 'webhook') {
      if (values.url === undefined && !values.off) throw new UsageError('keys webhook needs --url URL, or --off');
      const key = await keys.setWebhookUrl((await keys.find(values.key)).id, values.off ? null : values.url!);
      print({ webhookUrl: key.webhookUrl }, values.json, () => (key.webhookUrl ? `Webhook URL: ${key.webhookUrl}` : 'Webhooks are off.'));
      return;
    }
    const key = await keys.require(values.key);
    if (subcommand === 'rotate-webhook-secret') {
      const hours = Number(values['overlap-hours']);
      if (!Number.isFinite(hours) || hours < 0) throw new UsageError('--overlap-hours must be a number ≥ 0');
      const webhookSecret = await keys.rotateWebhookSecret(key.id, hours * 3600 * 1000);
      print({ webhookSecret, previousValidForHours: hours }, values.json, () =>
        `New webhook signing secret: ${webhookSecret}\nThe previous secret keeps signing for ${hours} h.`,
      );
      return;
    }
    if (subcommand === 'veo-hmac') {
      const veoHmacKey = await keys.setVeoHmacKey(key.id, !values.off);
      print({ veoHmacKey }, values.json, () =>
        veoHmacKey ? `Veo webhook HMAC key: ${veoHmacKey}` : 'Veo-style callback signatures are off.',
      );
      return;
    }
    throw new UsageError(`unknown command: keys ${subcommand ?? ''}`);
  });
}

/** A key as the CLI shows it: never its secrets. */
function describe(key: ApiKeyRecord & { balance: number }) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    balance: key.balance,
    rateLimit: key.rateLimit,
    maxUnfinishedTasks: key.maxUnfinishedTasks,
    webhookUrl: key.webhookUrl,
    createdAt: new Date(key.createdAt).toISOString(),
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}
