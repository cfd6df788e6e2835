"""German and English stopwords for the term statistics, plus words every post in this debate shares.

Topic words ("openai", "model", "open") appear on every side, so they are dropped as well: they would only
crowd out the terms that distinguish one stance from another.
"""

from __future__ import annotations

ENGLISH = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
each even ever every few for from further get gets getting got had hadn't has hasn't have haven't having he
her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself just let
let's like make many may me might more most much must mustn't my myself need no nor not now of off on once
one only or other ought our ours ourselves out over own really same say says she should shouldn't so some
still such than that that's the their theirs them themselves then there there's these they they'd they'll
they're they've thing things think this those though through to too under until up upon us use used very
via want was wasn't way we we'd we'll we're we've well were weren't what what's when where which while who
whom why will with won't would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself
yourselves going gonna lot lol actually pretty right sure new people know see time
""".split())

GERMAN = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anders auch
auf aus bei beim bin bis bist bitte da dabei dadurch dafür dagegen daher damit dann darauf darum das dass
davon dazu dein deine deinem deinen deiner dem den denn der des deshalb dich die dies diese diesem diesen
dieser dieses dir doch dort du durch ein eine einem einen einer eines einfach einmal er es etwa etwas euch
euer eure für gab gibt ganz gar gegen geht gewesen gut hab habe haben hat hatte hätte hier hin ich ihm ihn
ihnen ihr ihre ihrem ihren ihrer ihres im immer in ins ist ja jede jedem jeden jeder jedes jetzt kann kein
keine keinem keinen keiner können könnte machen macht mal man manche mehr mein meine meinem meinen meiner
mich mir mit muss müssen nach nicht nichts noch nun nur ob oder ohne schon sehr sein seine seinem seinen
seiner sich sie sind so soll sollen sollte sonst über um und uns unser unsere unter viel viele vom von vor
war waren warum was weil weiter welche welchem welchen welcher wenn wer werden wie wieder will wir wird
wirklich wo wurde würde zu zum zur zwar zwischen eben halt genau klar endlich echt heute
""".split())

TOPIC = frozenset("""
openai open ai ki model models modell modelle gpt chatgpt altman sam weights gewichte source
""".split())

STOPWORDS = ENGLISH | GERMAN | TOPIC
