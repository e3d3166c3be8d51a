/** The longest DatasetName the model allows. */
const MAX_DATASET_NAME = 128;

/**
 * The name a merged identity's dataset `name` takes in the survivor (SPEC §5.7): `<name>.<mergedIdentityId>`, the
 * name part shortened so the whole fits DatasetName's 128 characters. That name may already be taken in the
 * survivor: two long names can shorten to the same one, and a Sync Manager's own re-parenting creates
 * `<name>.<oldId>` datasets (SPEC §10.1). A taken name (live or deleted: a deleted row keeps its sync count, which
 * must never go back) is never replaced; the name part then ends in `-2`, `-3`, … until one is free.
 *
 * `taken`: every dataset name of the survivor, deleted ones included, and the names given earlier in the same merge.
 */
export function mergedDatasetName(name: string, mergedIdentityId: string, taken: ReadonlySet<string>): string {
  const suffix = `.${mergedIdentityId}`;
  for (let n = 1; ; n++) {
    const mark = n === 1 ? '' : `-${n}`;
    const candidate = `${name.slice(0, MAX_DATASET_NAME - suffix.length - mark.length)}${mark}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
