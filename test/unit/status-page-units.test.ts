import { formatAge, formatBytes, formatBytesPerSecond, formatCount, formatDuration, formatFileRate, formatPercent } from "../../gateway/status-page/units";

/** The status page's numbers carry units (gateway/status-page/units.ts). */
describe("status page units", () => {
  it("gives bytes in binary units with at most three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1 KiB");
    expect(formatBytes(14_400)).toBe("14.1 KiB");
    expect(formatBytes(1_036_800)).toBe("1013 KiB");
    expect(formatBytes(18 * 2 ** 20)).toBe("18 MiB");
    expect(formatBytes(1.5 * 2 ** 30)).toBe("1.5 GiB");
    expect(formatBytes(3.2 * 2 ** 50)).toBe("3.2 PiB");
    expect(formatBytes(null)).toBe("–");
    expect(formatBytesPerSecond(2.5 * 2 ** 20)).toBe("2.5 MiB/s");
  });

  it("gives file rates in the unit that reads best, and counts with separators", () => {
    expect(formatFileRate(36, 3600)).toBe("36 files/h");
    expect(formatFileRate(120, 3600)).toBe("2 files/min");
    expect(formatFileRate(7200, 3600)).toBe("2 files/s");
    expect(formatFileRate(0, 3600)).toBe("0 files/h");
    expect(formatFileRate(5, 0)).toBe("–");
    expect(formatCount(200_000)).toBe("200,000");
  });

  it("gives ages and durations in the largest unit that keeps them readable", () => {
    const now = Date.parse("2026-12-07T12:00:00Z");
    expect(formatAge("2026-12-07T11:59:56Z", now)).toBe("4 s ago");
    expect(formatAge("2026-12-07T11:48:00Z", now)).toBe("12 min ago");
    expect(formatAge(null, now)).toBe("never");
    expect(formatDuration(3 * 3600 + 20 * 60)).toBe("3 h 20 min");
    expect(formatDuration(2 * 86400 + 4 * 3600)).toBe("2 d 4 h");
  });

  it("never shows 100 % before completion nor 0 % once something is done", () => {
    expect(formatPercent(71, 72)).toBe("98 %");
    expect(formatPercent(9999, 10000)).toBe("99 %");
    expect(formatPercent(1, 1000)).toBe("<1 %");
    expect(formatPercent(72, 72)).toBe("100 %");
    expect(formatPercent(0, 0)).toBe("–");
  });
});
