export async function main(when: Date, blob: Base64, to: Email, query: Sql) {
  return [when, blob, to, query];
}
