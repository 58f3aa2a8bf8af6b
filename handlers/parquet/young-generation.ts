/**
 * Bytes of one of V8's two semi-spaces a conversion lets the young generation grow to: what
 * `--max-semi-space-size=8` gives, the flag `npm run convert` runs with.
 */
const SEMI_SPACE_BYTES = 8 << 20;

/**
 * A check, made between batches of the merge and of the conversion, that stops V8's young
 * generation growing past SEMI_SPACE_BYTES a semi-space.
 *
 * V8 doubles the semi-space capacity at a scavenge, up to --max-semi-space-size, and the Lambda
 * runtime's bootstrap derives that flag from the function's memory: 51 MiB at 1024 MB, where the
 * converter peaks at 289-294 MiB for 50k posts against 182-197 MiB with 8 MiB, no faster (npm run
 * bench). The function cannot pass its own: the bootstrap's flags come after NODE_OPTIONS, and V8
 * sizes its heap once. V8 does read --semi-space-growth-factor at each growth, so the check sets it
 * to 1 once the capacity has reached the bound, and back to 2 (V8's default) once V8 has shrunk it
 * (it halves it) so that it can grow again.
 *
 * The capacity is the new space's used plus available bytes, the to-space V8 grows from. Its
 * `space_size` is no measure of that: it counts the from-space too, which a mark-compact hands to
 * V8's page pool while the capacity stays, so it reads half; releasing on that let the next
 * scavenge double the untouched capacity past the bound. Capacities are powers of two apart, and
 * one that V8 stretches by a few pages during marking still reads above the threshold.
 */
export function youngGenerationBound(): () => void {
  const v8 = require('node:v8') as typeof import('node:v8');
  // Unknown at first: a conversion that ran before in this process may have left either factor set.
  let holding: boolean | null = null;
  return () => {
    let capacity = -1;
    for (const space of v8.getHeapSpaceStatistics()) {
      if (space.space_name === 'new_space') capacity = space.space_used_size + space.space_available_size;
    }
    if (capacity < 0) return;
    const hold = capacity >= SEMI_SPACE_BYTES * 0.75;
    if (hold === holding) return;
    holding = hold;
    v8.setFlagsFromString(`--semi-space-growth-factor=${hold ? 1 : 2}`);
  };
}
