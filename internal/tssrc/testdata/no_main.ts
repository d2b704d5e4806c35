// export async function main(x: string) {}
function main(x: string) {
  return x;
}
export function helper(y: number) {}
export default async function main2(z: string) {}
