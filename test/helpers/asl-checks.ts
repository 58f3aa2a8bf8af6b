/**
 * Checks asl-validator does not make (it accepts BackoffRate < 1 and States.ALL that is not
 * alone and last), plus the rules this project holds every definition to. Returns problems as
 * sentences; an empty list means the definition passes.
 */
type Json = Record<string, any>;

interface Located {
  path: string;
  name: string;
  state: Json;
  states: Json;
}

function allStates(machine: Json, path = ''): Located[] {
  const out: Located[] = [];
  for (const [name, state] of Object.entries<Json>(machine.States ?? {})) {
    out.push({ path: `${path}${name}`, name, state, states: machine.States });
    const nested = state.ItemProcessor ?? state.Iterator;
    if (nested) out.push(...allStates(nested, `${path}${name}/`));
    for (const [i, branch] of (state.Branches ?? []).entries()) out.push(...allStates(branch, `${path}${name}[${i}]/`));
  }
  return out;
}

function successors(state: Json): string[] {
  const next = [state.Next, state.Default, ...(state.Choices ?? []).map((c: Json) => c.Next), ...(state.Catch ?? []).map((c: Json) => c.Next)];
  return next.filter((n): n is string => typeof n === 'string');
}

export function aslProblems(definition: Json): string[] {
  const problems: string[] = [];
  const located = allStates(definition);
  for (const { path, state } of located) {
    for (const key of ['Retry', 'Catch'] as const) {
      const rules: Json[] = state[key] ?? [];
      rules.forEach((rule, i) => {
        if (rule.ErrorEquals.includes('States.ALL') && (rule.ErrorEquals.length !== 1 || i !== rules.length - 1)) {
          problems.push(`${path}: ${key}[${i}] uses States.ALL but not alone and last`);
        }
        if (key === 'Retry' && rule.BackoffRate !== undefined && rule.BackoffRate < 1) problems.push(`${path}: Retry[${i}] BackoffRate ${rule.BackoffRate} < 1`);
      });
    }
    if (state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) problems.push(`${path}: Task without TimeoutSeconds`);
    if (state.Type === 'Task' && !(state.Catch ?? []).some((c: Json) => c.ErrorEquals.includes('States.ALL'))) problems.push(`${path}: Task without a States.ALL Catch`);
    if (typeof state.Parameters?.Message === 'string' && state.Parameters.Message.startsWith('$')) problems.push(`${path}: Message is a literal path; use "Message.$"`);
  }

  // Every path that starts at a top-level Catch must end in a Fail state: a Catch that leads to
  // a Succeed or an End makes the failed execution look successful. The one exception is a Catch
  // that goes where the state would have gone anyway (a step whose failure must not change the
  // run's outcome, like WriteRunManifest, which alerts on its own): it hides nothing.
  const top = definition.States as Json;
  const catchTargets = Object.values<Json>(top).flatMap((s) => (s.Catch ?? []).filter((c: Json) => c.Next !== s.Next).map((c: Json) => c.Next as string));
  for (const start of catchTargets) {
    const seen = new Set<string>();
    const walk = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const state = top[name];
      if (state.Type === 'Fail') return;
      const next = successors(state);
      if (state.End || state.Type === 'Succeed' || next.length === 0) problems.push(`failure path from a Catch reaches ${name}, which does not end in Fail`);
      next.forEach(walk);
    };
    walk(start);
  }
  return problems;
}
