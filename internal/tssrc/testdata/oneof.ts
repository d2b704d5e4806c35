type Kind = "pg" | "mysql";

export async function main(
  target: { label: "Database"; dsn: string; kind?: Kind } | { label: "Bucket"; bucket: string },
  plain: { a: number } | { b: string },
) {
  return target;
}
