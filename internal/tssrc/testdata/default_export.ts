export default async function main(x: string) {
  return x;
}
