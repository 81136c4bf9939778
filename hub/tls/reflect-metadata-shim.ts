// @peculiar/x509 uses tsyringe, which refuses to load without the Reflect
// metadata API (normally from the `reflect-metadata` package). The hub needs
// only the four calls tsyringe makes, so it carries them here instead of
// adding a dependency. Import this before '@peculiar/x509'.

type Target = object;
type MetadataReflect = typeof Reflect & {
  getMetadata?: (key: unknown, target: Target) => unknown;
  getOwnMetadata?: (key: unknown, target: Target) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: Target) => void;
  hasMetadata?: (key: unknown, target: Target) => boolean;
};

const reflect = Reflect as MetadataReflect;

if (!reflect.getMetadata) {
  const store = new WeakMap<Target, Map<unknown, unknown>>();
  const own = (target: Target) => store.get(target);
  reflect.defineMetadata = (key, value, target) => {
    let map = store.get(target);
    if (!map) store.set(target, (map = new Map()));
    map.set(key, value);
  };
  reflect.getOwnMetadata = (key, target) => own(target)?.get(key);
  reflect.getMetadata = (key, target) => {
    for (let t: Target | null = target; t; t = Object.getPrototypeOf(t)) {
      const map = own(t);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
  reflect.hasMetadata = (key, target) => reflect.getMetadata!(key, target) !== undefined;
}

export {};
