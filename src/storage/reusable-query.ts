import type { Compilable, CompiledQuery, Kysely } from 'kysely';

const sentinel = (index: number) => `\u0000segue-argument-${index}\u0000`;

/**
 * A Kysely query built and compiled once, then run with new arguments. Building a query costs
 * about twice what SQLite needs to answer a primary-key lookup, so the queries on the polling
 * path are compiled once. The SQL still comes from Kysely's compiler for the active dialect.
 */
export class ReusableQuery<Args extends readonly unknown[], Row> {
  private compiled: CompiledQuery<Row> | undefined;

  constructor(private readonly build: (...args: Args) => Compilable<Row>) {}

  async rows(executor: Kysely<any>, ...args: Args): Promise<Row[]> {
    const compiled = (this.compiled ??= this.build(...(args.map((_, index) => sentinel(index)) as unknown as Args)).compile());
    const parameters = compiled.parameters.map((parameter) => {
      const match = typeof parameter === 'string' ? /^\u0000segue-argument-(\d+)\u0000$/.exec(parameter) : null;
      return match ? args[Number(match[1])] : parameter;
    });
    return (await executor.executeQuery<Row>({ ...compiled, parameters })).rows;
  }
}
