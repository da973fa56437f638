import factory
from django.conf import settings
from django.contrib.auth import get_user_model

from bookstore.models import Book
from cart.models import Cart, CartLine
from orders.services import ShippingAddress

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"reader{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Book

    title = factory.Sequence(lambda n: f"Test Book {n}")
    author = factory.Faker("name")
    isbn = factory.Sequence(lambda n: f"978{n:010d}")
    price_amount = 1500
    currency = factory.LazyFunction(lambda: settings.SHOP_CURRENCY)
    stock = 10


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart


class CartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    book = factory.SubFactory(BookFactory)
    quantity = 1


def shipping_address(**overrides) -> ShippingAddress:
    fields = dict(name="Ada Lovelace", line1="1 Analytical Row", city="London", postal_code="N1 9GU", country="GB")
    return ShippingAddress(**{**fields, **overrides})
