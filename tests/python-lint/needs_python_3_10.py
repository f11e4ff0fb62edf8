# Not part of the package: `make lint-python` runs the Python >= 3.9 check (vermin) on this file
# and expects it to FAIL, proving the check would catch code the oldest supported Python cannot
# run: syntax (pattern matching, `X | Y` in an annotation) and standard library (a member, a
# keyword argument) that need 3.10 or later.
import datetime
from typing import Optional


def newer(x: int | None) -> Optional[int]:  # union types as X | Y: 3.10 (evaluated annotations)
    match x:  # pattern matching: 3.10
        case 1:
            return 1
    return None


print(datetime.UTC)  # datetime.UTC: 3.11
print(list(zip([1], [2], strict=True)))  # zip(strict=): 3.10
