// CLIP text on the client side (seed 001): the text tower takes token ids INT64 [1, 77] and returns
// per-token embeddings emb_seq [1, 77, 512] (exported without ArgMax, which failed on the GPU); the
// client picks the row of the end-of-text token, which is the largest id in the sequence. Prompts are
// sent one at a time (29 per run in core_clip). Tokenizing text is the caller's business; here a
// prompt is already a list of BPE token ids.
import { topK, type Ranked } from "./topk.ts";

/** CLIP's `<|startoftext|>` id. */
export const CLIP_START_TOKEN = 49406;
/** CLIP's `<|endoftext|>` id: the largest id of the 49408-entry vocabulary in use. */
export const CLIP_END_TOKEN = 49407;
/** Context length of the text tower. */
export const CLIP_CONTEXT = 77;
/** Prompts core_clip embeds per run (seed 001). */
export const PIPELINE_PROMPT_COUNT = 29;

/**
 * Token ids for one prompt: [start, …tokens, end, 0, 0, …], 77 long, as INT64. Prompt tokens must
 * be ordinary BPE ids (0 … 49405); at most 75 fit between start and end.
 */
export function clipTokenIds(tokens: readonly number[], context = CLIP_CONTEXT): BigInt64Array {
  if (tokens.length > context - 2) throw new RangeError(`a prompt holds at most ${context - 2} tokens between start and end, got ${tokens.length}`);
  const ids = new BigInt64Array(context);
  ids[0] = BigInt(CLIP_START_TOKEN);
  tokens.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= CLIP_START_TOKEN) throw new RangeError(`token ${i} is ${t}: prompt tokens are BPE ids 0 … ${CLIP_START_TOKEN - 1}`);
    ids[i + 1] = BigInt(t);
  });
  ids[tokens.length + 1] = BigInt(CLIP_END_TOKEN);
  return ids;
}

/** Position of the end-of-text token: the largest id (the first one, should it repeat), like argmax in CLIP. */
export function eotIndex(ids: ArrayLike<bigint | number>): number {
  if (ids.length === 0) throw new RangeError("no token ids");
  let best = 0;
  for (let i = 1; i < ids.length; i++) if (ids[i]! > ids[best]!) best = i;
  return best;
}

/** Row `eotIndex(ids)` of emb_seq [1, T, D]: the prompt's embedding. */
export function selectEotEmbedding(embSeq: Float32Array, ids: ArrayLike<bigint | number>, width: number): Float32Array {
  if (embSeq.length !== ids.length * width) throw new RangeError(`emb_seq has ${embSeq.length} values; [1, ${ids.length}, ${width}] needs ${ids.length * width}`);
  const at = eotIndex(ids);
  return embSeq.slice(at * width, (at + 1) * width);
}

/**
 * `count` deterministic prompts as token sequences (stand-ins for core_clip's 29 prompts): prompt i
 * has 3 + (7·i mod 13) tokens, ids from a fixed LCG in [1, 49405]. Different lengths put the EOT
 * token at different positions, which is what the selection must get right.
 */
export function syntheticPrompts(count = PIPELINE_PROMPT_COUNT): number[][] {
  let s = 0x5eed;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
  return Array.from({ length: count }, (_, i) => Array.from({ length: 3 + ((7 * i) % 13) }, () => 1 + (next() % (CLIP_START_TOKEN - 1))));
}

export function l2Normalize(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  return Float32Array.from({ length: v.length }, (_, i) => v[i]! * inv);
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`vectors of ${a.length} and ${b.length} values`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Prompts ranked by cosine similarity to the image embedding, best first. */
export function rankPrompts(image: ArrayLike<number>, prompts: readonly ArrayLike<number>[], k: number): Ranked[] {
  return topK(prompts.map((p) => cosineSimilarity(image, p)), k);
}
