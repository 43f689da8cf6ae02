import { between, seededRandom } from './seeded-random.js';
import { AUDIO_SAMPLE_RATE, OUTPUT_FPS } from './output-format.js';

/**
 * A seeded procedural scene: soft interfering waves and a drifting ring, computed at a quarter
 * of the output size and scaled up (the picture is smooth, so nothing is lost and it is 16× cheaper).
 * The engine cannot read the prompt and does not pretend to: only the seed shapes the scene.
 */
export function proceduralSceneSource(seed: number, width: number, height: number, seconds: number): string {
  const random = seededRandom(seed);
  const w = Math.round(width / 4);
  const h = Math.round(height / 4);
  const f1 = between(random, 9, 26);
  const f2 = between(random, 7, 16);
  const s1 = between(random, 0.6, 1.6);
  const s2 = between(random, 1.2, 2.6);
  const orbit = between(random, 0.25, 0.9);
  const hueCb = between(random, -40, 40);
  const hueCr = between(random, -40, 40);
  const chroma = between(random, 18, 34);
  const luma = `128+55*sin(X/${f1}+T*${s1})+45*sin(hypot(X-${w / 2}-${w / 4}*sin(T*${orbit}),Y-${h / 2})/${f2}-T*${s2})`;
  const cb = `128+${hueCb}+${chroma}*sin(Y/${f1 + 5}+T*${s1 * 0.7})`;
  const cr = `128+${hueCr}+${chroma}*cos((X+Y)/${f2 + 13}-T*${s2 * 0.5})`;
  return (
    `color=c=black:s=${w}x${h}:r=${OUTPUT_FPS}:d=${seconds},format=yuv444p,` +
    `geq=lum='${luma}':cb='${cb}':cr='${cr}',` +
    `scale=${width}:${height}:flags=bicubic,format=yuv420p`
  );
}

/** A seeded ambient pad: a soft three-note chord with a slow swell, slightly different per channel. */
export function ambientAudioSource(seed: number, seconds: number): string {
  const random = seededRandom(seed ^ 0x5eed);
  const root = between(random, 110, 220);
  const ratios = [1, 1.25, 1.5, 2].sort(() => random() - 0.5).slice(0, 3);
  const swell = between(random, 0.1, 0.3);
  const channel = (phase: number) => {
    const chord = ratios
      .map((ratio, index) => `${(0.09 - index * 0.02).toFixed(2)}*sin(2*PI*${(root * ratio).toFixed(2)}*t+${phase + index})`)
      .join('+');
    return `(${chord})*(0.75+0.25*sin(2*PI*${swell}*t))`;
  };
  return `aevalsrc='${channel(0)}|${channel(0.7)}':s=${AUDIO_SAMPLE_RATE}:d=${seconds}`;
}
