import { describe, expect, it } from 'vitest';
import { AddressBook } from './address-book.js';

/** The address `book` gives `host`, or the error code of the system resolver it fell back to. */
function resolve(book: AddressBook, host: string): Promise<string> {
  return new Promise((done) => {
    book.lookup(host, {}, (error, address) =>
      done(error ? (error.code ?? 'error') : String(address)),
    );
  });
}

// A name no resolver knows (RFC 2606 reserves .invalid), so a miss in the book is an error.
const LEAVING = 'dcache-3.dcache.invalid';
const STAYING = 'dcache-1.dcache.invalid';

describe('AddressBook', () => {
  it('reports the names found at a new address, and only those', () => {
    const book = new AddressBook();
    expect(
      book.replace([
        { host: STAYING, address: '127.0.0.2', family: 4 },
        { host: LEAVING, address: '127.0.0.4', family: 4 },
      ]),
    ).toEqual([]);
    expect(
      book.replace([
        { host: STAYING, address: '127.0.0.2', family: 4 },
        { host: LEAVING, address: '127.0.0.6', family: 4 },
      ]),
    ).toEqual([LEAVING]);
  });

  it('forgets a name gone from the records at once, unless asked to keep departed names', async () => {
    const book = new AddressBook();
    book.replace([
      { host: STAYING, address: '127.0.0.2', family: 4 },
      { host: LEAVING, address: '127.0.0.4', family: 4 },
    ]);
    book.replace([{ host: STAYING, address: '127.0.0.2', family: 4 }]);
    expect(await resolve(book, LEAVING)).not.toBe('127.0.0.4');
  });

  it('reports a name back at another address as moved, also once it was forgotten', async () => {
    // Forgotten at once (no window), or dropped when the window closed: connections kept alive to
    // its old process may still be open all the same.
    for (const keepDeparted of [false, true]) {
      const book = new AddressBook();
      book.replace([{ host: LEAVING, address: '127.0.0.4', family: 4 }]);
      book.replace([{ host: STAYING, address: '127.0.0.2', family: 4 }], keepDeparted);
      book.dropDeparted();
      expect(await resolve(book, LEAVING)).not.toBe('127.0.0.4');
      const back = [
        { host: STAYING, address: '127.0.0.2', family: 4 as const },
        { host: LEAVING, address: '127.0.0.5', family: 4 as const },
      ];
      expect(book.replace(back, keepDeparted)).toEqual([LEAVING]);
      // Gone and back at the same address: nothing moved.
      book.replace([{ host: STAYING, address: '127.0.0.2', family: 4 }], keepDeparted);
      expect(book.replace(back, keepDeparted)).toEqual([]);
    }
  });

  it('keeps a departed name resolvable until dropDeparted() (the transition window closed)', async () => {
    const book = new AddressBook();
    book.replace([
      { host: STAYING, address: '127.0.0.2', family: 4 },
      { host: LEAVING, address: '127.0.0.4', family: 4 },
    ]);
    expect(book.replace([{ host: STAYING, address: '127.0.0.2', family: 4 }], true)).toEqual([]);
    expect(await resolve(book, LEAVING)).toBe('127.0.0.4');
    expect(await resolve(book, STAYING)).toBe('127.0.0.2');
    // Back in the records at another address: the records win, and it counts as moved (a
    // connection to its old address may still be open).
    const moved = book.replace(
      [
        { host: STAYING, address: '127.0.0.2', family: 4 },
        { host: LEAVING, address: '127.0.0.5', family: 4 },
      ],
      true,
    );
    expect(moved).toEqual([LEAVING]);
    expect(await resolve(book, LEAVING)).toBe('127.0.0.5');
    book.replace([{ host: STAYING, address: '127.0.0.2', family: 4 }], true);
    book.dropDeparted();
    expect(await resolve(book, LEAVING)).not.toBe('127.0.0.5');
    expect(await resolve(book, STAYING)).toBe('127.0.0.2');
  });
});
