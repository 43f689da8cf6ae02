import fs from 'node:fs';
import { ConfigError } from '../config/config.js';
import { defaultPriceTable, type PriceTable, priceTableSchema } from '../domain/pricing.js';

/** The price table from SEGUE_PRICES (a JSON file), or the shipped defaults; a bad file stops start-up. */
export function loadPriceTable(file: string | undefined): PriceTable {
  if (!file) return defaultPriceTable;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`SEGUE_PRICES: cannot read ${file} as JSON (${(error as Error).message})`);
  }
  const parsed = priceTableSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`SEGUE_PRICES: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
