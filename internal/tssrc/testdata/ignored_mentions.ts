/* export async function main(fake: number) {} */
// export async function main(fake2: number) {}
const s1 = "export async function main(fake3: number) {}";
const s2 = 'export function main(fake4)';
const s3 = `export function main(${"fake5"}) { ${`nested ${1 + 2}`} }`;
const re = /export function main\(/g;
const half = 10 / 2 / 1;
function outer() {
  export async function main(fake6: string) {}
}
const obj = { f() { return "}"; } };

export async function main(real: string, re2 = /[)]/.source) {
  const x = "export function main(y)";
  return real;
}
