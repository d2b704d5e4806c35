export async function main(
  { a, b }: { a: string; b?: number },
  first: string,
  [x, y]: number[],
  { c = 1, d: { e } } = { c: 2, d: { e: 3 } },
) {}
