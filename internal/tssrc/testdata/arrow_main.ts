import { x } from "y";

export const main = async (id: number, tags: string[] = ["a"]) => {
  return id;
};
