import fs from 'node:fs/promises';
import type { TexturePlan } from './video-texture.js';

/**
 * The walk as one ffmpeg filter graph, so that the encoder's own process decodes the window and
 * puts its frames in the walk's order: no raw frame passes through this process. The decoded
 * window (input 0, seeked to the window's start) is split into one branch per piece of the
 * walk — a stretch of consecutive frames, or one cross-faded frame — each cut out by frame
 * number (`trim`, counting decoded frames as the analysis did), and the pieces are concatenated
 * and numbered as consecutive frames at the plan's rate (their aspect left unset, as raw frames
 * had it: the same parameter sets as before). A piece waiting its turn holds only its
 * own frames (shared with the decoder's, not copied). Beside the walk, the source's last frame
 * and the walk's first go to `psnr`, which writes the seam's PSNR to `seamStatsFile`.
 */
export interface WalkGraphRequest {
  readonly texture: TexturePlan;
  /** For each jump after the first, the frames the old stretch would have shown next (fading out). */
  readonly fadeSources: readonly (readonly number[])[];
  /** Frames in the analysed window (the last is the source's last frame). */
  readonly count: number;
  readonly fps: number;
  /** Turns a source frame into a result frame, or null. */
  readonly sourceFilter: string | null;
  /** Drawn on the new seconds, or null. */
  readonly watermark: string | null;
  /** Where `psnr` writes its line for the seam (a name in the encoder's working directory). */
  readonly seamStatsFile: string;
}

type Piece = { readonly from: number; readonly to: number } | { readonly picture: number; readonly fadingOut: number; readonly weight: number };

/** The walk's pieces in order: each run, its first frames cross-faded from the old stretch's continuation. */
function pieces(texture: TexturePlan, fadeSources: readonly (readonly number[])[]): Piece[] {
  const list: Piece[] = [];
  for (const [runIndex, run] of texture.runs.entries()) {
    const fades = runIndex === 0 ? [] : fadeSources[runIndex - 1]!;
    const faded = Math.min(fades.length, run.to - run.from + 1);
    for (let offset = 0; offset < faded; offset++) {
      // The old stretch playing on fades out under the new one fading in.
      list.push({ picture: run.from + offset, fadingOut: fades[offset]!, weight: (offset + 1) / (fades.length + 1) });
    }
    if (run.from + faded <= run.to) list.push({ from: run.from + faded, to: run.to });
  }
  return list;
}

const cut = (from: number, to: number) => `trim=start_frame=${from}:end_frame=${to + 1},setpts=PTS-STARTPTS`;

/** The graph from input 0 to `[v]` (the new seconds' picture, ready for the encoder). */
export function walkGraph(request: WalkGraphRequest): string {
  const { texture, count } = request;
  const list = pieces(texture, request.fadeSources);
  const branches = list.reduce((sum, piece) => sum + ('from' in piece ? 1 : 2), 0) + 2;
  const labels = Array.from({ length: branches }, (_, index) => `[s${index}]`);
  const chains = [`[0:v]${request.sourceFilter ? `${request.sourceFilter},` : ''}split=${branches}${labels.join('')}`];
  let next = 0;
  const parts = list.map((piece, index) => {
    if ('from' in piece) {
      chains.push(`[s${next++}]${cut(piece.from, piece.to)}[p${index}]`);
    } else {
      chains.push(`[s${next++}]${cut(piece.picture, piece.picture)}[p${index}a]`, `[s${next++}]${cut(piece.fadingOut, piece.fadingOut)}[p${index}b]`);
      // picture × weight + fading-out × (1 − weight), rounded: a table of every pair of values (lut2), per plane.
      const mix = `y*(1-${piece.weight})+x*${piece.weight}+0.5`;
      chains.push(`[p${index}a][p${index}b]lut2=c0='${mix}':c1='${mix}':c2='${mix}'[p${index}]`);
    }
    return `[p${index}]`;
  });
  const first = texture.runs[0]!.from;
  chains.push(
    `[s${next++}]${cut(count - 1, count - 1)}[seamA]`,
    `[s${next++}]${cut(first, first)}[seamB]`,
    `[seamA][seamB]psnr=stats_file=${request.seamStatsFile},nullsink`,
    `${parts.join('')}concat=n=${parts.length}:v=1:a=0,settb=expr=1/${request.fps},setpts=N,setsar=0,` +
      `${request.watermark ? `${request.watermark},` : ''}format=yuv420p[v]`,
  );
  return chains.join(';');
}

/** The seam's luma PSNR from the `psnr` filter's line (Infinity: the frames are identical). */
export async function readSeamPsnr(statsPath: string): Promise<number> {
  const line = await fs.readFile(statsPath, 'utf8');
  const value = /psnr_y:(inf|[0-9.]+)/.exec(line)?.[1];
  if (value === undefined) throw new Error('the seam was not measured');
  return value === 'inf' ? Infinity : Number(value);
}
