#!/usr/bin/env python3
"""Writes a synthetic XMLTV document: CHANNELS channels x DAYS days of hourly
programmes (starting yesterday 00:00 UTC), with titles, descriptions and
categories, sized like real provider guides. Usage: gen_xmltv.py OUT CHANNELS DAYS"""
import sys, time

out, channels, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
day0 = int(time.time()) // 86400 * 86400 - 86400
words = ("news weather sport documentary drama comedy live studio guests report "
         "highlights interview season finale special world local culture music").split()
with open(out, "w", encoding="utf-8", buffering=1 << 20) as f:
    w = f.write
    w('<?xml version="1.0" encoding="UTF-8"?>\n<tv generator-info-name="xtreamd-bench">\n')
    for c in range(channels):
        w(f' <channel id="ch{c}.bench"><display-name>Bench Channel {c} HD</display-name>'
          f'<icon src="http://img.example/ch{c}.png"/></channel>\n')
    stamps = [time.strftime("%Y%m%d%H%M%S", time.gmtime(day0 + h * 3600)) + " +0000"
              for h in range(days * 24 + 1)]
    for c in range(channels):
        cid = f"ch{c}.bench"
        parts = []
        for h in range(days * 24):
            k = (c * 7 + h) % len(words)
            title = f"{words[k].title()} {words[(k + 3) % len(words)]} #{h % 97}"
            desc = " ".join(words[(k + i) % len(words)] for i in range(7)) + f" — episode {h}."
            parts.append(
                f' <programme start="{stamps[h]}" stop="{stamps[h + 1]}" channel="{cid}">'
                f'<title lang="en">{title}</title><sub-title>Part {h % 5 + 1}</sub-title>'
                f'<desc lang="en">{desc}</desc><category lang="en">{words[k]}</category>'
                f'<episode-num system="onscreen">E{h}</episode-num></programme>\n')
        w("".join(parts))
    w("</tv>\n")
