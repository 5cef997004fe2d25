// Each run's colour, from a hash of its id: the same run keeps its colour whatever runs are added,
// removed or sorted around it, on every page load. Ten well-separated colours first (the hash picks
// one), shaded lighter or darker by more bits of the hash so that runs sharing a base colour differ.

const BASE = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
] as const;

/** FNV-1a of the id's UTF-16 code units: 32 bits that change with any character. */
function hash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const hex = (v: number): string =>
  Math.max(0, Math.min(255, Math.round(v)))
    .toString(16)
    .padStart(2, "0");

/** Run `id`'s colour as #rrggbb. */
export function colorOf(id: string): string {
  const h = hash(id);
  const base = BASE[h % BASE.length];
  // One of 5 shades: darker (-0.3) to lighter (+0.3) toward black or white.
  const shade = ((Math.floor(h / BASE.length) % 5) - 2) * 0.15;
  const mix = (c: number): number => (shade < 0 ? c * (1 + shade) : c + (255 - c) * shade);
  return `#${hex(mix(base[0]))}${hex(mix(base[1]))}${hex(mix(base[2]))}`;
}
