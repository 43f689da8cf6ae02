import type { Kysely } from 'kysely';
import type { SettingsStore } from '../ports/settings-store.js';
import type { Database } from './database-schema.js';

export class SqlSettingsStore implements SettingsStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(name: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('service_settings').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value;
  }

  async set(name: string, value: string, at: number): Promise<void> {
    await this.db
      .insertInto('service_settings')
      .values({ name, value, updated_at: at })
      .onConflict((conflict) => conflict.column('name').doUpdateSet({ value, updated_at: at }))
      .execute();
  }
}
