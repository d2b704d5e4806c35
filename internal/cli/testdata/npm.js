import leftPad from "left-pad";
export function main() {
  return leftPad("x", 5);
}
