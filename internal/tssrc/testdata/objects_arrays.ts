export async function main(
  cfg: { host: string; port?: number, tags: string[]
    nested: { deep: boolean } },
  names: string[],
  matrix: number[][],
  ids: Array<bigint>,
  grouped: (string)[],
  empty: {},
  rec: Record<string, number>,
) {}
