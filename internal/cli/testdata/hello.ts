import { getState, setState } from "windmill-client";

type Tone = "warm" | "cold";

export async function main(name: string, times: number = 1, tone?: Tone): Promise<{ text: string; prev: unknown }> {
  console.log("greeting", name, times);
  const prev = await getState();
  await setState({ last: name });
  if (name === "boom") {
    throw new Error("no booms allowed");
  }
  return { text: `${tone ?? "plain"} hello ${name} x${times}`, prev };
}
