import { ExpiryList } from '../../gateway/src/proxy/expiry-list';

// The list reads performance.now() and sets one timer: both are jest's fake clock here.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

function track(ms: number): { list: ExpiryList<{ name: string }>; expired: string[] } {
  const expired: string[] = [];
  const list = new ExpiryList<{ name: string }>(ms, (item) => expired.push(item.name));
  return { list, expired };
}

test('an item expires once, when its time is up, and leaves the list', () => {
  const { list, expired } = track(100);
  const a = { name: 'a' };
  list.add(a);

  jest.advanceTimersByTime(99);
  expect(expired).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(expired).toEqual(['a']);
  expect(list.size).toBe(0);

  jest.advanceTimersByTime(1_000);
  expect(expired).toEqual(['a']);
});

test('a deleted item never expires', () => {
  const { list, expired } = track(100);
  const a = { name: 'a' };
  const b = { name: 'b' };
  list.add(a);
  list.add(b);
  list.delete(a);

  jest.advanceTimersByTime(100);
  expect(expired).toEqual(['b']);
});

test('adding an item again starts its clock again', () => {
  const { list, expired } = track(100);
  const a = { name: 'a' };
  list.add(a);
  jest.advanceTimersByTime(60);
  list.add(a);

  jest.advanceTimersByTime(60);
  expect(expired).toEqual([]);
  jest.advanceTimersByTime(40);
  expect(expired).toEqual(['a']);
});

test('items expire in the order they were added, each at its own deadline, with one timer', () => {
  const { list, expired } = track(100);
  const items = ['a', 'b', 'c'].map((name) => ({ name }));
  list.add(items[0]!);
  jest.advanceTimersByTime(30);
  list.add(items[1]!);
  jest.advanceTimersByTime(30);
  list.add(items[2]!);
  expect(jest.getTimerCount()).toBe(1);

  jest.advanceTimersByTime(40);
  expect(expired).toEqual(['a']);
  jest.advanceTimersByTime(29);
  expect(expired).toEqual(['a']);
  jest.advanceTimersByTime(1);
  expect(expired).toEqual(['a', 'b']);
  jest.advanceTimersByTime(30);
  expect(expired).toEqual(['a', 'b', 'c']);
  expect(jest.getTimerCount()).toBe(0);
});

test('when the earliest item is deleted, the timer still finds the next deadline', () => {
  const { list, expired } = track(100);
  const a = { name: 'a' };
  const b = { name: 'b' };
  list.add(a);
  jest.advanceTimersByTime(50);
  list.add(b);
  list.delete(a);

  // The timer set for a's deadline fires, finds b pending and waits for b's.
  jest.advanceTimersByTime(50);
  expect(expired).toEqual([]);
  expect(jest.getTimerCount()).toBe(1);
  jest.advanceTimersByTime(50);
  expect(expired).toEqual(['b']);
});

test('an item added after the list has emptied gets a timer of its own', () => {
  const { list, expired } = track(100);
  list.add({ name: 'a' });
  jest.advanceTimersByTime(100);
  list.add({ name: 'b' });
  expect(jest.getTimerCount()).toBe(1);

  jest.advanceTimersByTime(100);
  expect(expired).toEqual(['a', 'b']);
});
