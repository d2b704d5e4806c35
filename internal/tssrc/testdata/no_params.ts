export async function main() {
  return "hello";
}
