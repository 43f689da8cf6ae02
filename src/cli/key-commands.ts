import { parseArgs } from 'node:util';
import { KeyService } from '../services/key-service.js';
import { print, UsageError, withStorage } from './cli-support.js';

export const keyUsage = `  keys create --name NAME [--credits N] [--json]        create an API key (shown once) with a credit grant
  keys rotate-webhook-secret --key KEY [--overlap-hours H] [--json]
                                                        new whsec_ secret; the old one signs too for H hours (24)
  keys veo-hmac --key KEY [--off] [--json]              Veo-style X-Webhook-Signature on callbacks: new HMAC key, or off`;

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
    },
  });
  await withStorage(async (storage) => {
    const keys = new KeyService(storage);
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
    if (!values.key) throw new UsageError(`keys ${subcommand ?? ''} needs --key KEY`);
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
