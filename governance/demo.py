"""What seed_demo sets up for governance: the usage charter (version 1, in English and
French) and an AI champion of Customer support with a training session behind her."""

from __future__ import annotations

import datetime

from django.utils import timezone

from pilots.models import Team

from . import champions
from .models import TeamChampion, TrainingSession

DEMO_CHAMPION = "carla"  # in pilots.demo.PEOPLE, a member of Customer support
CHAMPION_TEAM = "support"
CHAMPION_DUTIES = (
    "Tries new tools first, answers colleagues' questions, runs a monthly clinic and relays "
    "anonymous tool declarations."
)
TRAINING = {
    "topic": "Prompting safely: what never goes into a prompt",
    "attendees": 6,
    "material_url": "https://intranet.example.com/ai/prompting-safely",
}

CHARTER_EN = """# AI usage charter

We try AI tools to do better work, not to take risks with people's data or trust.

1. **Only approved tools, within their limits.** Use a tool for data up to the classification
   the registry allows, never above.
2. **No confidential data in prompts** unless the pilot's rules say otherwise. If it happens,
   report it in your feedback: the pilot pauses at once and nobody is blamed.
3. **You stay responsible for what you send.** Read and check every AI output before it reaches
   a customer or a colleague.
4. **Say when AI helped** when the reader would want to know.
5. **Your feedback is anonymous** unless the pilot says otherwise: say what really happened.
"""

CHARTER_FR = """# Charte d’usage de l’IA

Nous essayons des outils d’IA pour mieux travailler, pas pour prendre des risques avec les
données ou la confiance des gens.

1. **Seulement des outils approuvés, dans leurs limites.** Utilisez un outil pour des données
   jusqu’à la classification que le registre autorise, jamais au-delà.
2. **Pas de données confidentielles dans les requêtes**, sauf si les règles du pilote le
   permettent. Si cela arrive, signalez-le dans votre retour : le pilote est suspendu aussitôt
   et personne n’est blâmé.
3. **Vous restez responsable de ce que vous envoyez.** Relisez et vérifiez chaque résultat de
   l’IA avant qu’il n’atteigne un client ou un collègue.
4. **Dites quand l’IA vous a aidé**, quand le lecteur voudrait le savoir.
5. **Vos retours sont anonymes**, sauf mention contraire du pilote : dites ce qui s’est vraiment
   passé.
"""


def seed_champion(users: dict, teams: dict[str, Team], *, now: datetime.datetime) -> None:
    """Name the demo champion of Customer support and record the training she ran, through
    the same domain functions as Ops and champions (change records included); both once."""
    team = teams[CHAMPION_TEAM]
    champion = users[DEMO_CHAMPION]
    if not TeamChampion.objects.filter(team=team, user=champion).exists():
        champions.name_champion(
            team, actor=users["ops"], user=champion, duties=CHAMPION_DUTIES, hours_per_month=8
        )
    if not TrainingSession.objects.filter(team=team, topic=TRAINING["topic"]).exists():
        champions.record_training(
            team,
            actor=champion,
            held_on=timezone.localdate(now) - datetime.timedelta(days=14),
            **TRAINING,
        )
