export function main() {
  for (;;) {}
}
