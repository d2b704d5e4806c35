export async function main(
  a?: string,
  b: number | undefined,
  c: null | boolean,
  d: string | null | undefined,
  e: string,
  f: string | number,
  g: Date[] | undefined,
) {}
