export async function main(s: string, n: number, big: bigint, ok: boolean, o: object, a: any, u: unknown) {
  return { s, n, big, ok, o, a, u };
}
