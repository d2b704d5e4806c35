import readFiles from "reads-files";
export function main() {
  return String(readFiles());
}
