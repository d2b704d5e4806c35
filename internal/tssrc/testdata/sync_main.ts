export function main(x: number, y = "z") {
  return x;
}
