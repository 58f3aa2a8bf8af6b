/**
 * Bytes of V8's new space (both semi-spaces) a conversion lets it grow to: what
 * `--max-semi-space-size=8` gives, the flag `npm run convert` runs with.
 */
const NEW_SPACE_BYTES = 16 << 20;

/**
 * A check, made between batches of the merge and of the conversion, that stops V8's young
 * generation growing past NEW_SPACE_BYTES.
 *
 * V8 doubles the new space at a scavenge, up to --max-semi-space-size, and the Lambda runtime's
 * bootstrap derives that flag from the function's memory: 51 MiB at 1024 MB, where the converter
 * peaks at 289-294 MiB for 50k posts against 182-197 MiB with 8 MiB, no faster (npm run bench).
 * The function cannot pass its own: the bootstrap's flags come after NODE_OPTIONS, and V8 sizes
 * its heap once. V8 does read --semi-space-growth-factor at each growth, so the check sets it to 1
 * once the new space has reached the bound, and back to 2 (V8's default) once V8 has shrunk it
 * (it halves it) so that it can grow again. The space's size moves by a few pages around its
 * capacity from one scavenge to the next; releasing at the first dip below the bound let it double
 * past it.
 */
export function youngGenerationBound(): () => void {
  const v8 = require('node:v8') as typeof import('node:v8');
  // Unknown at first (a conversion that ran before may have left either factor set): a space near
  // the bound is held, a smaller one released.
  let holding: boolean | null = null;
  return () => {
    let size = -1;
    for (const space of v8.getHeapSpaceStatistics()) if (space.space_name === 'new_space') size = space.space_size;
    if (size < 0) return;
    const hold = size >= (holding === false ? NEW_SPACE_BYTES : NEW_SPACE_BYTES * 0.75);
    if (hold === holding) return;
    holding = hold;
    v8.setFlagsFromString(`--semi-space-growth-factor=${hold ? 1 : 2}`);
  };
}
