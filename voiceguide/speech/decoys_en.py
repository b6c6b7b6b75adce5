"""Frequent English words that compete with the commands in the fallback grammar, so other speech is rejected.

The 600 most probable unigrams of pocketsphinx's own `en-us.lm.bin` that are in its dictionary, most probable
first, taken once from the model's unigram table and kept here as data so run time needs no language model.
They are chosen by frequency alone, not tuned to any test set; commands among them are skipped at use.
"""

__all__ = ["ENGLISH_DECOYS"]

ENGLISH_DECOYS: tuple[str, ...] = tuple(
    """
the to i and a of you that in it is for but know was have they on like be not so with are one this yeah he
just my we as what if do at or about all think there would from two me people can your get out no said up more
when an had right well hundred really has thousand will oh because how time them she been by some who their
his were now then go good mean than going her see could much other five got three even too only want did him
something where very here way which nine lot make say first years back any new our also over into ah year
thing still four should work things those take us most why these never twenty need after being okay little
down kind point actually many day off come same six before last look sure eight money doing pretty around
seven always guess life dollars long yes better probably every world does anything maybe school great find
though made big feel through thirty cause game old put use different stuff ten home may might used am thought
while best since man love own getting another fifty few bad give part percent live family tell ever gonna
again went someone help keep everything try play hard done enough trying next end away its place far forty
talk ninety both real says country kids times least person bit such million high exactly told nothing friends
believe let call having able show else watch job ago nice start once whole house government problem looking
change children each without days found true saying between less week seen already makes guy course care name
second came sixty pay talking until making seems eighty thanks either idea seventy read yet definitely team
working city mr wanted left remember huh fact night business months state number against called half public
understand everyone whatever er almost run friend case took sometimes today must sorry god important wrong
started heard couple minutes hi set reason question system together car games women war hope states hey stop
happened thank guys coming sort small fun hear york under quite during agree free wow buy close past food top
hours anyone saw side news kinda myself cool mind thinking company deal whether comes happen interesting looks
gets later taking young parents phone ask stay shit matter please united especially power health area american
rather move open usually goes line fifteen sense using men wait story means however somebody fine leave become
playing lost level water living full often head funny yourself instead group college zero happy president easy
ones others knew post month seem hit supposed age needs room experience asked computer support turn outside
issue eat given movie likely hand white possible face market everybody book wants weeks gone tried certain
early police rest future taken countries problems cost situation woman chance sounds information child twelve
third anyway type mother girl fuck party players bring works check watching win worked basically black hour
lives eleven middle worth hello husband added internet security based cut law son running married control soon
body along paid season wife spend history fucking dog single learn behind example difficult front america
themselves clear huge wanna shows obama order although per played price class death plan human jobs takes
father local south felt amount answer gave within music absolutely across schools longer economy kill topic
knows hold morning pick ok unless late pounds meet video office difference major town happens word hate
companies needed known moment completely low large general
    """.split()
)
