import { between, seededRandom } from './seeded-random.js';
import { AUDIO_SAMPLE_RATE, OUTPUT_FPS } from '../../media/output-format.js';

/** The scene repeats every this many seconds, so its own motion can carry an extension on. */
export const SCENE_PERIOD_SECONDS = 6;

/**
 * A seeded procedural scene: soft interfering waves and a drifting ring, computed at a quarter
 * of the output size and scaled up (the picture is smooth, so nothing is lost and it is 16× cheaper).
 * Every motion turns a whole number of times per period, so the scene loops seamlessly.
 * The engine cannot read the prompt and does not pretend to: only the seed shapes the scene.
 */
export function proceduralSceneSource(seed: number, width: number, height: number, seconds: number): string {
  const random = seededRandom(seed);
  const w = Math.round(width / 4);
  const h = Math.round(height / 4);
  const turn = (2 * Math.PI) / SCENE_PERIOD_SECONDS;
  const speed = (choices: number[]) => (turn * choices[Math.floor(random() * choices.length)]!).toFixed(5);
  const f1 = between(random, 12, 28);
  const f2 = between(random, 9, 18);
  const s1 = speed([1]);
  const s2 = speed([1]);
  const orbit = speed([1]);
  const [p1, p2, p3] = [between(random, 0, 6.28), between(random, 0, 6.28), between(random, 0, 6.28)];
  const hueCb = between(random, -40, 40);
  const hueCr = between(random, -40, 40);
  const chroma = between(random, 18, 34);
  const luma = `128+55*sin(X/${f1}+T*${s1}+${p1})+45*sin(hypot(X-${w / 2}-${w / 8}*sin(T*${orbit}+${p2}),Y-${h / 2})/${f2}-T*${s2})`;
  const cb = `128+${hueCb}+${chroma}*sin(Y/${f1 + 5}+T*${s1}+${p3})`;
  const cr = `128+${hueCr}+${chroma}*cos((X+Y)/${f2 + 13}-T*${orbit})`;
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
