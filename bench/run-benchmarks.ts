import { apiThroughputBenchmark } from './api-throughput.js';
import { callbackLatencyBenchmark } from './callback-latency.js';
import { cleanUpEngineBenchmarks, engineSpeedBenchmark, extensionCostBenchmark, stitchCostBenchmark } from './engine.js';

/** `npm run bench`: each benchmark prints one JSON line of figures. */
const benchmarks: Array<() => Promise<Record<string, unknown>>> = [
  apiThroughputBenchmark,
  callbackLatencyBenchmark,
  engineSpeedBenchmark,
  extensionCostBenchmark,
  stitchCostBenchmark,
];

for (const benchmark of benchmarks) {
  try {
    process.stdout.write(`${JSON.stringify(await benchmark())}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ benchmark: benchmark.name, error: (error as Error).message })}\n`);
    process.exitCode = 1;
  }
}

await cleanUpEngineBenchmarks();
