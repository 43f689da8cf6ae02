/** An operator's switches, stored so that every process sees them. */
export interface SettingsStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string, at: number): Promise<void>;
}
