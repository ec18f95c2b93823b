export async function main(argv: string[]): Promise<number> {
  console.log('wirestate', argv.join(' '));
  return 0;
}
