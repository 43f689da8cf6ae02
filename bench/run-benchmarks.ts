import { apiThroughputBenchmark } from './api-throughput.js';
import { callbackLatencyBenchmark } from './callback-latency.js';
import { cleanUpEngineBenchmarks, engineSpeedBenchmark, extensionCostBenchmark, stitchCostBenchmark } from './engine.js';
import { inFlightBenchmark } from './in-flight.js';
import { scaleOutBenchmark } from './scale-out.js';

/** `npm run bench`: each benchmark prints one JSON line of figures. */
const benchmarks: Record<string, () => Promise<Record<string, unknown>>> = {
  'api-throughput': apiThroughputBenchmark,
  'callback-latency': callbackLatencyBenchmark,
  'engine-speed': engineSpeedBenchmark,
  'extension-cost': extensionCostBenchmark,
  'stitch-cost': stitchCostBenchmark,
  'in-flight-capacity': inFlightBenchmark,
  'scale-out': scaleOutBenchmark,
};

// `npm run bench -- in-flight-capacity` runs only the named benchmarks.
const named = process.argv.slice(2);
const unknown = named.filter((name) => !(name in benchmarks));
if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}`);

for (const [name, benchmark] of Object.entries(benchmarks)) {
  if (named.length > 0 && !named.includes(name)) continue;
  try {
    process.stdout.write(`${JSON.stringify(await benchmark())}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ benchmark: name, error: (error as Error).message })}\n`);
    process.exitCode = 1;
  }
}

await cleanUpEngineBenchmarks();
