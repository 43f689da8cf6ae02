/** Provider webhooks arrive at least once: the log of the ids already acted on. */
export interface InboundWebhookLog {
  /** True the first time an id is recorded, false for a redelivery. */
  recordOnce(id: string, source: string, at: number): Promise<boolean>;
}
