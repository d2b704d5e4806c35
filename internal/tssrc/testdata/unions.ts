export async function main(
  color: "red" | 'green' | "blue",
  size: | "s" | "m" | "l" | undefined,
  free: "a" | "b" | string,
  mixed: "a" | 1,
  kind: ("x" | "y")[],
  shape: { label: "circle"; radius: number } | { label: "square"; side: number },
  both: { a: string } & { b: number },
  fn: (x: number) => string,
) {}
